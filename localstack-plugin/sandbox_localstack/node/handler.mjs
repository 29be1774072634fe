// Finding and loading the function's handler the way AWS's Node.js runtime does.
//
// The handler setting is "[dir/]module.export[.nested]". The module is looked up in LAMBDA_TASK_ROOT:
// an extensionless file, then "<module>.js" through require() unless the nearest package.json says
// "type": "module", then as an ES module "<module>.js" (type module) or "<module>.mjs", then "<module>.cjs", and
// finally Node's own resolution from the task root (a package of that name). ES modules get a resolve hook so
// that bare imports of the bundled SDK work (ES module resolution ignores NODE_PATH).
import { existsSync, readFileSync } from 'node:fs';
import { createRequire, register } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { RuntimeError, loadError } from './errors.mjs';

const HANDLER_PATTERN = /^([^.]*)\.(.*)$/;

export function splitHandler(handler) {
  const slash = handler.lastIndexOf('/');
  const moduleRoot = slash >= 0 ? handler.slice(0, slash) : '';
  const match = HANDLER_PATTERN.exec(handler.slice(slash + 1));
  if (!match || !match[1] || !match[2]) {
    throw new RuntimeError('Runtime.MalformedHandlerName', 'Bad handler');
  }
  return { moduleRoot, moduleName: match[1], exportPath: match[2] };
}

function nearestPackageIsModule(file) {
  let dir = path.dirname(file);
  for (;;) {
    const manifest = path.join(dir, 'package.json');
    if (existsSync(manifest)) {
      try {
        return JSON.parse(readFileSync(manifest, 'utf8')).type === 'module';
      } catch {
        return false;
      }
    }
    const parent = path.dirname(dir);
    if (parent === dir) return false;
    dir = parent;
  }
}

let esmHookRegistered = false;

// ES module resolution ignores NODE_PATH; AWS's runtimes still let ES modules import the SDK they bundle.
function registerSdkResolveHook() {
  if (esmHookRegistered || typeof register !== 'function') return;
  esmHookRegistered = true;
  const roots = (process.env.NODE_PATH ?? '').split(path.delimiter).filter((dir) => dir.endsWith('node_modules'));
  if (roots.length === 0) return;
  register('./resolve_hook.mjs', import.meta.url, {
    data: { parents: roots.map((dir) => pathToFileURL(path.join(dir, 'index.js')).href) },
  });
}

async function importModule(file) {
  registerSdkResolveHook();
  return import(pathToFileURL(file).href);
}

async function loadModule(taskRoot, moduleRoot, moduleName) {
  const base = path.resolve(taskRoot, moduleRoot, moduleName);
  const require = createRequire(import.meta.url); // absolute paths only; AWS names its runtime file too
  if (existsSync(base)) return require(base);
  const isModule = nearestPackageIsModule(base);
  if (!isModule && existsSync(`${base}.js`)) return require(`${base}.js`);
  if (isModule && existsSync(`${base}.js`)) return importModule(`${base}.js`);
  if (existsSync(`${base}.mjs`)) return importModule(`${base}.mjs`);
  if (existsSync(`${base}.cjs`)) return require(`${base}.cjs`);
  const resolved = require.resolve(moduleName, { paths: [taskRoot, path.resolve(taskRoot, moduleRoot)] });
  return resolved.endsWith('.mjs') ? importModule(resolved) : require(resolved);
}

export async function loadHandler(taskRoot, handler) {
  const { moduleRoot, moduleName, exportPath } = splitHandler(handler);
  let userModule;
  try {
    userModule = await loadModule(taskRoot, moduleRoot, moduleName);
  } catch (error) {
    throw loadError(error);
  }
  let value = userModule;
  for (const key of exportPath.split('.')) {
    value = value == null ? undefined : value[key];
  }
  if (value === undefined) {
    throw new RuntimeError('Runtime.HandlerNotFound', `${handler} is undefined or not exported`);
  }
  if (typeof value !== 'function') {
    throw new RuntimeError('Runtime.HandlerNotFound', `${handler} is not a function`);
  }
  return value;
}
