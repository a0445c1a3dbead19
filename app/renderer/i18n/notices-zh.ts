// Simplified Chinese for every notice main and the worker can send (English lives in app/shared/notices.ts).

import type { NoticeKey } from '../../shared/notices.js';

export const NOTICES_ZH_CN: Readonly<Record<NoticeKey, string>> = {
  'error.internal': '出现了意外错误：{message}',
  'error.cancelled': '生成已取消。',
  'error.shuttingDown': '工作室正在关闭。',
};
