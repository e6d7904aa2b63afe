// Turns each `init_X = __esm({ "path"() {...} })` of a CommonJS bundle into a function declaration
// `function init_X() { init_X = __esmDone; ... }`.
//
// Why: esbuild's __esm call runs at the bundle's top level for every lazily initialised module
// (~360 in box.js) and allocates each time an object literal, its method, a context and the closure
// __esm returns, ~330 bytes in V8's young generation per module (~140 KB, measured 2026-12-05): all
// of it alive until the process ends, so every start's scavenges copied it and promoted it. V8
// makes the closures of the bundle's own function declarations directly in old space (its top level
// runs once), so declared inits cost no young memory and no call.
//
// Same behaviour as __esm: the first call replaces init_X before the body runs, so a call from
// inside the body (an import cycle) or any later call returns at once, also after a body that threw.
// No module's init returns a value here (no top-level await in a CommonJS bundle). Only a `var`
// declarator of exactly that shape is changed; the function is hoisted, so it exists before the
// statement that declared it, where esbuild never calls it.
import ts from 'typescript';

/** The method of `__esm({ "path"() {...} })`, if `init` is that call. */
function esmMethod(init) {
  if (!init || !ts.isCallExpression(init) || !ts.isIdentifier(init.expression) || init.expression.text !== '__esm')
    return undefined;
  const [arg] = init.arguments;
  if (init.arguments.length !== 1 || !ts.isObjectLiteralExpression(arg) || arg.properties.length !== 1)
    return undefined;
  const method = arg.properties[0];
  if (!ts.isMethodDeclaration(method) || !method.body || method.parameters.length !== 0) return undefined;
  return method;
}

/** The bundle with its modules' inits as function declarations, and how many were changed. */
export function esmInitsAsFunctions(code) {
  const file = ts.createSourceFile('bundle.js', code, ts.ScriptTarget.Latest, false, ts.ScriptKind.JS);
  const edits = []; // [start, end, text]
  for (const statement of file.statements) {
    if (!ts.isVariableStatement(statement)) continue;
    const declarations = statement.declarationList.declarations;
    const kept = [];
    const inits = [];
    for (const d of declarations) {
      const method = ts.isIdentifier(d.name) ? esmMethod(d.initializer) : undefined;
      if (!method) {
        kept.push(code.slice(d.getStart(file), d.end));
        continue;
      }
      const name = d.name.text;
      const body = code.slice(method.body.getStart(file) + 1, method.body.end - 1);
      inits.push(`function ${name}(){${name}=__esmDone;${body}}`);
    }
    if (inits.length === 0) continue;
    const vars = kept.length ? `var ${kept.join(',')};` : '';
    edits.push([statement.getStart(file), statement.end, vars + inits.join('')]);
  }
  edits.sort((a, b) => b[0] - a[0]);
  let out = code;
  for (const [start, end, text] of edits) out = out.slice(0, start) + text + out.slice(end);
  if (edits.length) out = out.replace(/^("use strict";)?/, (strict) => `${strict}function __esmDone(){}`);
  return { code: out, changed: edits.length };
}
