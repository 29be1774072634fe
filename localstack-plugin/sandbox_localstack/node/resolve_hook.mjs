// Module resolve hook (module.register) for ES module handlers: a bare import that Node cannot resolve from the
// importing file is tried once more from each node_modules directory on NODE_PATH, where the runtime's SDK lives.
let parents = [];

export function initialize(data) {
  parents = data?.parents ?? [];
}

function isBare(specifier) {
  return !/^(\.{0,2}\/|[a-zA-Z][a-zA-Z\d+.-]*:)/.test(specifier);
}

export async function resolve(specifier, context, nextResolve) {
  try {
    return await nextResolve(specifier, context);
  } catch (error) {
    if (error?.code !== 'ERR_MODULE_NOT_FOUND' || !isBare(specifier)) throw error;
    for (const parentURL of parents) {
      try {
        return await nextResolve(specifier, { ...context, parentURL });
      } catch {
        // not in this directory either
      }
    }
    throw error;
  }
}
