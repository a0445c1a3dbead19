// Simplified Chinese for every notice main and the worker can send (English lives in app/shared/notices.ts).

import type { NoticeKey } from '../../shared/notices.js';

export const NOTICES_ZH_CN: Readonly<Record<NoticeKey, string>> = {
  'error.internal': '出现了意外错误：{message}',
  'error.cancelled': '生成已取消。',
  'error.shuttingDown': '工作室正在关闭。',
  // --- api track ---
  'error.connectionLost': '与工作室的连接已断开。',
  'error.hostUnreachable': '无法连接到工作室。`studio serve` 还在运行吗？如果此页面是你自己打开的，请改为打开它打印的链接。',
  'error.noAccessToken': '此页面没有访问令牌：请打开 `studio serve` 打印的链接。',
};
