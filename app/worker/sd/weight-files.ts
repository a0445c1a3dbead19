// Which weight files of a diffusers component folder to read: the default file, else the fp16 variant
// (`*.fp16.safetensors`, what the catalog downloads where it is published). The CPU provider computes in
// float32, so the default file is preferred when both are there: it stays memory-mapped without a cast.

export function weightStems(stem: string): string[] {
  return [stem, `${stem}.fp16`];
}
