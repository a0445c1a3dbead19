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
  // robust: downloads, storage, export, library, worker watchdog
  'error.download.incompleteModel': '{repo} 的下载不是完整的模型：缺少 {count} 个文件（{missing}）。模型库发送的文件列表可能被截断了；没有标记为已安装。请重试，或换一个下载源。',
  'error.download.listingLoop': '{source} 一直在发送文件列表的下一页（已有 {pages} 页），已放弃获取列表。',
  'error.download.mirrorInvalid': '“{url}”不是可用的镜像地址（应类似 https://hf-mirror.com）。',
  'error.download.mirrorNotHttps': '镜像 {url} 必须使用 https；明文 http 只允许连接本机。',
  'error.download.mirrorPrivate': '镜像 {url} 指向私有或链路本地地址（{address}），工作室不会应请求从这类地址下载。如需使用局域网内的镜像，请在启动工作室前把 HF_ENDPOINT 设为该地址。',
  'error.download.mirrorUnresolved': '找不到镜像 {url}（{message}）。',
  'error.download.installFailed': '{title} 已下载，但安装使用失败：{message}',
  'note.library.folderSkipped': 'LoRA 库：{reason}；文件夹 {folder} 在修复或删除前不会列出。',
  'error.seed.invalid': '种子“{value}”不是 0 到 {max} 之间的整数；种子不会被折算成另一个种子。',
  // sdxl: model families, Stable Diffusion components, image input
  'error.modelFileMissing': '缺少 {file}，模型文件夹不完整。',
  'error.modelFileInvalid': '无法使用 {file}：{reason}。',
  'error.loraDoesNotFit': 'LoRA {file} 与已加载的模型不匹配：{total} 个张量中有 {count} 个找不到对应的层（{keys}）。它可能是为其他基础模型制作的；未应用任何内容。',
  'error.loraShapeMismatch': 'LoRA {file} 与 {module} 不匹配：{reason}。它是为其他尺寸的模型制作的；未应用任何内容。',
  'error.loraEmpty': '文件 {file} 不包含 LoRA 权重。',
  'error.latentsInvalid': '第 {step} 步产生了 {count} 个无效（NaN 或无穷大）的潜变量值；未生成图像。',
  'error.vaeInvalid': 'VAE 产生了 {count} 个无效（NaN 或无穷大）的值；图像未保存。',
  'error.componentsMismatch': '{file}：{reason}；此文件夹中的组件不属于同一个模型。',
  'error.unknownFamily': '{file} 指定的管线 {className} 不是工作室支持的模型系列（支持：{known}）。',
  'error.componentMissing': '{dir} 中没有 {component}/ 文件夹；下载不完整。',
  'error.imageInputUnsupported': '{family} 模型不接受输入图像。',
  'error.imageUndecodable': '无法将输入图像 {file} 读取为图像（{reason}）。',
  'error.strengthTooLow': '强度 {strength} 配合 {steps} 步时一步也不会运行：步数 × 强度至少为 1。',
  'error.loraWrongFamily': 'LoRA {file} 是用于 {loraFamily} 模型的 {preset} 加速 LoRA；所选模型是 {modelFamily}。',
  'error.samplerWrongFamily': '采样器 {sampler} 不能运行 {family} 模型。',
  // --- api track ---
  'error.connectionLost': '与工作室的连接已断开。',
  'error.hostUnreachable': '无法连接到工作室。`studio serve` 还在运行吗？如果此页面是你自己打开的，请改为打开它打印的链接。',
  'error.noAccessToken': '此页面没有访问令牌：请打开 `studio serve` 打印的链接。',
};
