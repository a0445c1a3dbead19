// The request bodies of AUTOMATIC1111's /sdapi/v1 endpoints, as zod schemas. Fields the studio uses are
// typed (wrong types answer 422 as FastAPI does); every other field passes through and is ignored, as
// A1111 ignores fields it does not know. Numbers may come as numeric strings, as pydantic accepts them.

import { z } from 'zod';

const integer = (field: string) =>
  z.union([z.number(), z.string().regex(/^\s*-?\d+\s*$/, `${field}: Input should be a valid integer`).transform(Number)], {
    error: `${field}: Input should be a valid integer`,
  }).pipe(z.number().int(`${field}: Input should be a valid integer, got a number with a fractional part`));

const number = (field: string) =>
  z.union([z.number(), z.string().regex(/^\s*-?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*$/, `${field}: Input should be a valid number`).transform(Number)], {
    error: `${field}: Input should be a valid number`,
  });

const text = (field: string) => z.string({ error: `${field}: Input should be a valid string` });
const flag = (field: string) => z.boolean({ error: `${field}: Input should be a valid boolean` });

/** What txt2img and img2img share. */
const generationFields = {
  prompt: z.string({
    error: (issue) => (issue.input === undefined ? 'prompt: Field required: describe the image you want' : 'prompt: Input should be a valid string'),
  }),
  negative_prompt: text('negative_prompt').nullish(),
  seed: integer('seed').nullish(),
  sampler_name: text('sampler_name').nullish(),
  sampler_index: text('sampler_index').nullish(),
  scheduler: text('scheduler').nullish(),
  batch_size: integer('batch_size').pipe(z.number().min(1, 'batch_size: Input should be at least 1')).nullish(),
  n_iter: integer('n_iter').pipe(z.number().min(1, 'n_iter: Input should be at least 1')).nullish(),
  steps: integer('steps').nullish(),
  cfg_scale: number('cfg_scale').nullish(),
  width: integer('width').nullish(),
  height: integer('height').nullish(),
  override_settings: z.record(z.string(), z.unknown(), { error: 'override_settings: Input should be a valid dictionary' }).nullish(),
  send_images: flag('send_images').nullish(),
  save_images: flag('save_images').nullish(),
  disable_extra_networks: flag('disable_extra_networks').nullish(),
  script_name: text('script_name').nullish(),
  alwayson_scripts: z.record(z.string(), z.unknown(), { error: 'alwayson_scripts: Input should be a valid dictionary' }).nullish(),
  styles: z.array(z.string(), { error: 'styles: Input should be a valid list of strings' }).nullish(),
};

export const txt2imgSchema = z.looseObject({
  ...generationFields,
  enable_hr: flag('enable_hr').nullish(),
});
export type Txt2ImgRequest = z.output<typeof txt2imgSchema>;

export const img2imgSchema = z.looseObject({
  ...generationFields,
  init_images: z.array(z.string(), { error: 'init_images: Input should be a valid list of base64 images' }).nullish(),
  denoising_strength: number('denoising_strength').nullish(),
  mask: text('mask').nullish(),
  include_init_images: flag('include_init_images').nullish(),
});
export type Img2ImgRequest = z.output<typeof img2imgSchema>;

export const optionsSchema = z.record(z.string(), z.unknown(), { error: 'The body should be a JSON object of option names and values' });

export const pngInfoSchema = z.looseObject({ image: text('image') });

export const progressQuerySchema = z.looseObject({
  skip_current_image: z.enum(['true', 'false', 'True', 'False', '1', '0'], { error: 'skip_current_image: Input should be a valid boolean' }).optional(),
});

/**
 * A1111 1.10's txt2img request fields: the ones `parameters` echoes back. Anything else a client sends
 * (SillyTavern forwards its own `url` and `auth`) is not echoed.
 */
export const TXT2IMG_FIELDS = [
  'prompt', 'negative_prompt', 'styles', 'seed', 'subseed', 'subseed_strength', 'seed_resize_from_h', 'seed_resize_from_w', 'sampler_name',
  'scheduler', 'batch_size', 'n_iter', 'steps', 'cfg_scale', 'width', 'height', 'restore_faces', 'tiling', 'do_not_save_samples',
  'do_not_save_grid', 'eta', 'denoising_strength', 's_min_uncond', 's_churn', 's_tmax', 's_tmin', 's_noise', 'override_settings',
  'override_settings_restore_afterwards', 'refiner_checkpoint', 'refiner_switch_at', 'disable_extra_networks', 'firstpass_image',
  'comments', 'enable_hr', 'firstphase_width', 'firstphase_height', 'hr_scale', 'hr_upscaler', 'hr_second_pass_steps', 'hr_resize_x',
  'hr_resize_y', 'hr_checkpoint_name', 'hr_sampler_name', 'hr_scheduler', 'hr_prompt', 'hr_negative_prompt', 'force_task_id',
  'sampler_index', 'script_name', 'script_args', 'send_images', 'save_images', 'alwayson_scripts', 'infotext',
] as const;

export const IMG2IMG_FIELDS = [
  ...TXT2IMG_FIELDS.filter((f) => !f.startsWith('hr_') && !['enable_hr', 'firstphase_width', 'firstphase_height', 'firstpass_image'].includes(f)),
  'init_images', 'resize_mode', 'image_cfg_scale', 'mask', 'mask_blur', 'mask_blur_x', 'mask_blur_y', 'inpainting_fill', 'inpaint_full_res',
  'inpaint_full_res_padding', 'inpainting_mask_invert', 'initial_noise_multiplier', 'latent_mask', 'include_init_images',
] as const;
