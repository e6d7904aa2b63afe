// Makes each Node built-in's namespace in a CommonJS bundle the built-in's module itself, instead of
// an object esbuild fills with a getter per property.
//
// Why: sharedBuiltinsPlugin (build/esbuild-plugins.mjs) gives every built-in one namespace for the
// whole bundle, `export * from 'node:X'`, whose init copies the module's properties as getters
// (__reExport): ~100 closures and descriptors for fs, ~40 KB of V8's young generation each for fs
// and os, alive to the end, so copied by every scavenge of a start (measured 2026-12-05), and a
// getter call on every `fs.readFileSync`. The module object has the same properties with the same
// values, read directly. Nothing reads the namespace's `default` (a default import is its own
// binding, here set to the same module), so the module gets no such property.
//
// Runs after esm-inits.mjs, on the shape the plugin's module takes there:
//   function init_X(){init_X=__esmDone;__export(NS,{default:()=>D});init_...();__reExport(NS,require("node:M"));D=require("node:M")}
// Any other shape is left as it is.

const INIT = new RegExp(
  String.raw`function ([\w$]+)\(\)\{\1=__esmDone;__export\(([\w$]+),\{default:\(\)=>([\w$]+)\}\);` +
    String.raw`((?:init_[\w$]+\(\);)*)__reExport\(\2,require\("(node:[\w/]+)"\)\);\3=require\("\5"\)\}`,
  'g',
);

/** The bundle with each built-in's namespace being the module itself, and how many were changed. */
export function builtinNamespacesAsModules(code) {
  let changed = 0;
  const out = code.replace(INIT, (_all, init, ns, def, inits, mod) => {
    changed++;
    return `function ${init}(){${init}=__esmDone;${inits}${ns}=${def}=require("${mod}")}`;
  });
  return { code: out, changed };
}
