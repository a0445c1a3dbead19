// A1111's extra-network syntax in prompts: `<lora:name:weight>` (also `<lyco:...>`) names a LoRA and its
// strength. The tags are taken out of the text the model reads, as A1111 does.

export interface PromptLora {
  readonly name: string;
  readonly strength: number;
  /** The tag as written, for messages. */
  readonly tag: string;
}

const TAG = /<(lora|lyco):([^:<>]+)((?::[^:<>]*)*)>/gi;

export type PromptLoraParse = { readonly ok: true; readonly prompt: string; readonly loras: readonly PromptLora[] } | { readonly ok: false; readonly tag: string; readonly message: string };

/**
 * Finds the LoRA tags of a prompt. The first number after the name is the strength (1 when absent); A1111's
 * later numbers and `te=`/`unet=` arguments name text-encoder and UNet strengths apart, which the studio
 * applies as one. The prompt comes back without the tags.
 */
export function parsePromptLoras(prompt: string): PromptLoraParse {
  const loras: PromptLora[] = [];
  for (const m of prompt.matchAll(TAG)) {
    const tag = m[0];
    const name = m[2]!.trim();
    const args = (m[3] ?? '').split(':').slice(1).map((a) => a.trim());
    const first = args.find((a) => a !== '');
    const value = first === undefined ? '1' : first.replace(/^(te|unet)=/i, '');
    const strength = Number(value);
    if (!/^[-+]?(\d+\.?\d*|\.\d+)$/.test(value) || !Number.isFinite(strength)) {
      return { ok: false, tag, message: `${tag}: the strength must be a number, like <lora:${name}:0.7>` };
    }
    loras.push({ name, strength, tag });
  }
  const stripped = prompt
    .replace(TAG, '')
    .replace(/[ \t]{2,}/g, ' ')
    .replace(/\s*,(\s*,)+/g, ',')
    .replace(/^[\s,]+|[\s,]+$/g, '');
  return { ok: true, prompt: stripped, loras };
}
