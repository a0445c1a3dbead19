// How a host turns files in the studio's folders into URLs its renderer can load.

export interface FileUrls {
  image(relativePath: string): string;
  thumb(relativePath: string): string;
  /** A file in the LoRA library (previews). */
  lora(relativePath: string): string;
  /** A finished export in the exports folder. */
  export(relativePath: string): string;
}

/** Before a host sets its scheme, paths stand for themselves (the CLI never shows URLs). */
export const PLAIN_FILE_URLS: FileUrls = { image: (p) => p, thumb: (p) => p, lora: (p) => p, export: (p) => p };
