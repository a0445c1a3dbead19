// The application menu: Electron's own roles (labelled in the system's language by Electron), with the
// developer items (reload, force reload, DevTools) only when running from a source checkout.

export interface MenuItemTemplate {
  readonly role?: string;
  readonly type?: 'separator';
  readonly submenu?: readonly MenuItemTemplate[];
}

const DEVELOPER_ROLES = ['reload', 'forceReload', 'toggleDevTools'] as const;

export function menuTemplate(packaged: boolean, platform: NodeJS.Platform): MenuItemTemplate[] {
  const view: MenuItemTemplate[] = [
    ...(packaged ? [] : [...DEVELOPER_ROLES.map((role) => ({ role })), { type: 'separator' as const }]),
    { role: 'resetZoom' },
    { role: 'zoomIn' },
    { role: 'zoomOut' },
    { type: 'separator' },
    { role: 'togglefullscreen' },
  ];
  return [
    ...(platform === 'darwin' ? [{ role: 'appMenu' }] : []),
    // "quit" goes through app.quit(), so the studio closes its worker and database (see desktop.ts).
    { role: 'fileMenu', submenu: [platform === 'darwin' ? { role: 'close' } : { role: 'quit' }] },
    { role: 'editMenu' },
    { role: 'viewMenu', submenu: view },
    { role: 'windowMenu' },
  ];
}

/** Every role in a template, for tests and checks. */
export function rolesOf(items: readonly MenuItemTemplate[]): string[] {
  return items.flatMap((i) => [...(i.role ? [i.role] : []), ...rolesOf(i.submenu ?? [])]);
}
