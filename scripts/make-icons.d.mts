// Types of make-icons.mjs, for the packaging test.
export const LINUX_SIZES: readonly number[];
export const ICO_SIZES: readonly number[];
export function icoOf(images: readonly { size: number; data: Buffer }[]): Buffer;
