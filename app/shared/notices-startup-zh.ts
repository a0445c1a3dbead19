// Simplified Chinese for the notices the desktop app may have to show before it has a window (native
// dialogs from main when the studio cannot start), kept in app/shared so main can read them; the
// renderer's table (app/renderer/i18n/notices-zh.ts) includes these.

import type { NoticeKey } from './notices.js';

export const STARTUP_NOTICE_KEYS = [
  'error.internal',
  'error.databaseTooNew',
  'error.database.corrupt',
  'error.database.empty',
  'error.data.notWritable',
  'error.storage.notAllowed',
  'error.storage.failed',
  'error.storage.diskFull',
  'note.repair.done',
  'dialog.startFailed',
  'dialog.repair',
  'dialog.quit',
] as const satisfies readonly NoticeKey[];

export const STARTUP_NOTICES_ZH: Readonly<Record<(typeof STARTUP_NOTICE_KEYS)[number], string>> = {
  'error.internal': '出现了意外错误：{message}',
  'error.databaseTooNew': "历史数据库 {file} 由更新版本的工作室写入（架构 {found}；此版本最多支持 {supported}）。请更新工作室；文件未被修改。",
  'error.database.corrupt': '历史数据库 {file} 已损坏（{detail}），文件未被改动。运行 `studio repair`（桌面应用中点“修复”），会把它保留为 studio.db.corrupt-<日期> 副本，并新建一个包含所有仍可读取图像的历史记录。',
  'error.database.empty': '历史数据库 {file} 是空的（0 字节），但图像文件夹里有图像：历史记录丢失了，而不是刚开始。文件未被改动。运行 `studio repair`（桌面应用中点“修复”），会新建历史记录，并从每个图像文件内嵌的配方读回所有图像。',
  'error.data.notWritable': '工作室无法写入数据文件夹 {dir}（{code}）。请用 --data-dir 或 STUDIO_DATA_DIR 选择其他文件夹，或让此文件夹可写；其中的内容没有被改动。',
  'error.storage.notAllowed': '工作室无权写入 {dir}（{code}），没有保存任何内容。',
  'error.storage.failed': '无法写入 {file}：{message}',
  'error.storage.diskFull': '存放 {dir} 的磁盘已满，没有保存任何内容。请释放一些空间后重试。',
  'note.repair.done': '损坏的数据库已保留为 {backup}。已新建历史记录，含 {recovered} 张图像，其中 {fromImages} 张从图像文件内嵌的配方读回；{unreadable} 张无法读取。',
  'dialog.startFailed': '工作室无法启动',
  'dialog.repair': '修复',
  'dialog.quit': '退出',
};
