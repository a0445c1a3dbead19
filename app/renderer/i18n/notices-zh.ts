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
  // --- api track ---
  'error.connectionLost': '与工作室的连接已断开。',
  'error.hostUnreachable': '无法连接到工作室。`studio serve` 还在运行吗？如果此页面是你自己打开的，请改为打开它打印的链接。',
  'error.noAccessToken': '此页面没有访问令牌：请打开 `studio serve` 打印的链接。',
  'error.apiListenNeedsAuth': '--listen 会让其他计算机也能访问 A1111 API，因此需要凭据：请添加 --api-auth 用户名:密码。',
  'error.apiAuthFormat': 'API 凭据的格式为 用户名:密码（多个之间用逗号分隔）。',
  'error.apiPortInUse': '端口 {port} 已被占用；请为 A1111 API 选择其他端口。',
  'error.apiFromCommandLine': 'A1111 API 是从命令行启动的（studio serve --api）；如需在此更改，请停止工作室并在不带 --api 的情况下重新启动。',
  'error.apiCredentialsHalf': '请同时填写 A1111 API 的用户名和密码，或两者都不填。',
  'error.apiPortInvalid': '--api-port 必须是 0 到 65535 之间的端口号，收到的是“{value}”。',
};
