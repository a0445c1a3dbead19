// Simplified Chinese for every notice main and the worker can send (English lives in app/shared/notices.ts).

import type { NoticeKey } from '../../shared/notices.js';

export const NOTICES_ZH_CN: Readonly<Record<NoticeKey, string>> = {
  'error.internal': '出现了意外错误：{message}',
  'error.cancelled': '生成已取消。',
  'error.shuttingDown': '工作室正在关闭。',
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
  'error.storage.diskFull': '存放 {dir} 的磁盘已满，没有保存任何内容。请释放一些空间后重试。',
  'error.storage.notAllowed': '工作室无权写入 {dir}（{code}），没有保存任何内容。',
  'error.storage.missing': '{file} 已不存在（{message}）。',
  'error.storage.failed': '无法写入 {file}：{message}',
  'error.database.corrupt': '历史数据库 {file} 已损坏（{detail}），文件未被改动。运行 `studio repair`（桌面应用中点“修复”），会把它保留为 studio.db.corrupt-<日期> 副本，并新建一个包含所有仍可读取图像的历史记录。',
  'error.data.notWritable': '工作室无法写入数据文件夹 {dir}（{code}）。请用 --data-dir 或 STUDIO_DATA_DIR 选择其他文件夹，或让此文件夹可写；其中的内容没有被改动。',
  'error.save.notRecorded': '图像已保存为 {file}（其中包含配方），但无法加入历史记录：{message}',
  'error.save.fileUnreadable': '图像没有保存：无法读取 {file} 来记录其哈希值（{message}）。',
  'error.serve.badPort': '--port 必须是 0 到 65535 之间的整数（0 表示自动选择空闲端口），而不是“{value}”。',
  'error.serve.portInUse': '127.0.0.1 上的端口 {port} 已被占用（另一个工作室或其他程序）。请用 --port 换一个，或用 --port 0 自动选择空闲端口。',
  'note.repair.notNeeded': '历史数据库 {file} 完好，无需修复。',
  'note.repair.done': '损坏的数据库已保留为 {backup}。已新建历史记录，含 {recovered} 张图像，其中 {fromImages} 张从图像文件内嵌的配方读回；{unreadable} 张无法读取。',
  'error.database.empty': '历史数据库 {file} 是空的（0 字节），但图像文件夹里有图像：历史记录丢失了，而不是刚开始。文件未被改动。运行 `studio repair`（桌面应用中点“修复”），会新建历史记录，并从每个图像文件内嵌的配方读回所有图像。',
};
