// Whether a LoRA can be used with a model: a LoRA changes the weights of the family it was trained for, so
// one of another family (an SDXL style on a Qwen-Image model) would only fail inside the worker. The form
// and main both ask here, so the user learns it before Generate and an API request gets the same reason.

import { familyById, familyOfLoraArchitecture, LORA_ARCHITECTURE_NAMES } from './model-families.js';
import { notice, type Notice } from './notices.js';

/** Why the LoRA (named, with the architecture inspection reported) cannot run on the model; undefined when it can. */
export function loraFamilyProblem(lora: { readonly name: string; readonly architecture: string }, model: { readonly name: string; readonly family: string }): Notice | undefined {
  const loraFamily = familyOfLoraArchitecture(lora.architecture);
  if (loraFamily?.id === model.family) return undefined;
  const modelFamily = familyById(model.family);
  return notice('validation.loraOtherFamily', {
    name: lora.name,
    loraFamily: loraFamily?.title ?? LORA_ARCHITECTURE_NAMES[lora.architecture] ?? lora.architecture,
    model: model.name,
    modelFamily: modelFamily?.title ?? model.family,
  });
}
