// Where the build reads and writes, and how each tool is started, for any platform's path rules. Pure:
// the path module and the URL maker come in as arguments, so a test can run it with Windows semantics
// (node:path.win32) on Linux. Tools run as `node <their JS entry>` or through their JS API, never
// through node_modules/.bin shims (tsc.cmd on Windows needs a shell); modules are imported by file://
// URL, since import() of a bare absolute path fails on Windows ("C:" reads as a URL scheme).

/**
 * @param {{ root: string, path: import('node:path').PlatformPath, packageDir: (name: string) => string, fileUrl: (path: string) => string }} o
 */
export function buildPaths({ root, path, packageDir, fileUrl }) {
  const dist = path.join(root, 'dist');
  return {
    dist,
    /** TypeScript's own compiler entry (package.json "bin".tsc), run with the current node. */
    tsc: { command: 'node', args: [path.join(packageDir('typescript'), 'bin', 'tsc'), '-b', path.join(root, 'tsconfig.json')] },
    preload: { entry: path.join(root, 'app', 'main', 'electron', 'preload.ts'), outfile: path.join(dist, 'app', 'main', 'electron', 'preload.cjs') },
    viteConfig: path.join(root, 'vite.config.ts'),
    /** Imported after tsc has run: the demo model's generator. */
    demoModule: fileUrl(path.join(dist, 'app', 'worker', 'demo', 'tiny-qwen-image.js')),
    demoDir: path.join(root, 'models', 'demo'),
  };
}
