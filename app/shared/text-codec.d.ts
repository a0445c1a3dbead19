// TextEncoder and TextDecoder exist in every runtime the studio has (Node, Electron, Chromium); shared code
// may use them without pulling in the DOM or Node type libraries.
declare class TextDecoder {
  constructor(label?: string, options?: { fatal?: boolean });
  decode(input?: Uint8Array): string;
}
declare class TextEncoder {
  encode(input?: string): Uint8Array;
}
