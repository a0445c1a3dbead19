// Simplified Chinese for every notice main and the worker can send (English lives in app/shared/notices.ts).

import type { NoticeKey } from '../../shared/notices.js';

export const NOTICES_ZH_CN: Readonly<Record<NoticeKey, string>> = {
  'error.internal': '出现了意外错误：{message}',
  'error.cancelled': '生成已取消。',
  'error.shuttingDown': '工作室正在关闭。',
  // sdxl: model families, Stable Diffusion components, image input
  'error.modelFileMissing': '缺少 {file}，模型文件夹不完整。',
  'error.modelFileInvalid': '无法使用 {file}：{reason}。',
  'error.loraDoesNotFit': 'LoRA {file} 与已加载的模型不匹配：{total} 个张量中有 {count} 个找不到对应的层（{keys}）。它可能是为其他基础模型制作的；未应用任何内容。',
  'error.loraShapeMismatch': 'LoRA {file} 与 {module} 不匹配：{reason}。它是为其他尺寸的模型制作的；未应用任何内容。',
  'error.loraEmpty': '文件 {file} 不包含 LoRA 权重。',
  'error.latentsInvalid': '第 {step} 步产生了 {count} 个无效（NaN 或无穷大）的潜变量值；未生成图像。',
  'error.vaeInvalid': 'VAE 产生了 {count} 个无效（NaN 或无穷大）的值；图像未保存。',
  'error.componentsMismatch': '{file}：{reason}；此文件夹中的组件不属于同一个模型。',
};
