// Simplified Chinese for every notice main and the worker can send (English lives in app/shared/notices.ts).

import type { NoticeKey } from '../../shared/notices.js';

export const NOTICES_ZH_CN: Readonly<Record<NoticeKey, string>> = {
  'error.internal': '出现了意外错误：{message}',
  'error.cancelled': '生成已取消。',
  'error.shuttingDown': '工作室正在关闭。',
  // engine
  'error.precisionUnsupported': '{provider} 执行提供程序不能以 {precision} 精度计算；它支持 {supported}。',
  'error.textEncoderNonFinite': '文本编码器产生了 {count} 个无效值（NaN 或无穷大），图像未生成。',
  'error.nonFiniteStep': '第 {step} 步产生了 {count} 个无效值（NaN 或无穷大），图像未生成。',
  'error.vaeNonFinite': 'VAE 产生了 {count} 个无效值（NaN 或无穷大），图像未保存。',
  'note.textEncoderRerun': '文本编码器在 {from} 精度下产生了 {count} 个无效值，已改用 {to} 重新运行。',
  'note.transformerRerun': '变换器在 {from} 精度下产生了 {count} 个无效值，从这一步起改用 {to} 运行。',
  'note.vaeRerun': 'VAE 在 {from} 精度下产生了 {count} 个无效值，已改用 {to} 重新运行。',
  'error.configTooLarge': '{file}：{key} 为 {value}，超过了此类模型可能的大小（最多 {max}）；该文件夹中不是工作室能运行的模型。',
  'error.badSetting': '{name} 被设置为“{value}”，工作室无法识别。可用的值：{allowed}。请修改或取消该设置后重新启动工作室。',
  // sdxl: model families, Stable Diffusion components, image input
  'error.modelFileMissing': '缺少 {file}，模型文件夹不完整。',
  'error.modelFileInvalid': '无法使用 {file}：{reason}。',
  'error.loraDoesNotFit': 'LoRA {file} 与已加载的模型不匹配：{total} 个张量中有 {count} 个找不到对应的层（{keys}）。它可能是为其他基础模型制作的；未应用任何内容。',
  'error.loraShapeMismatch': 'LoRA {file} 与 {module} 不匹配：{reason}。它是为其他尺寸的模型制作的；未应用任何内容。',
  'error.loraEmpty': '文件 {file} 不包含 LoRA 权重。',
};
