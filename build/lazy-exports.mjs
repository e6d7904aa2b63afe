// Moves esbuild's `__export(X_exports, {...})` of each lazily initialised module of a CommonJS bundle
// into that module's `__esm` init function.
//
// Why: esbuild emits that call at the bundle's top level, so every process defined the export getters
// of all ~130 modules of box.js (a closure and a hidden-class transition per export), ~0.3 ms of CPU of
// every command, although a command initialises a few dozen of them (measured 2026-12-05 on the
// 2-core dev VM). Inside the init, the call runs first, before the module's imports are initialised,
// so a module that imports it back (a cycle) still finds its exports; nothing reads X_exports before
// init_X() (esbuild's __toCommonJS(X_exports) and namespace uses come after the init call).
//
// A call is moved only where the bundle's shape is the one expected: it is followed, at the top
// level, by function declarations and uninitialised `var`s of the module, then by its `var ...,
// init_X = __esm({ "path"() {...} })`, and every getter returns a name declared in between. Any
// other call stays where it is (correct, only not lazy).
import ts from 'typescript';

/** The names a getter object `{a: () => x, ...}` returns, or undefined when it has another form. */
function getterNames(object) {
  const names = [];
  for (const p of object.properties) {
    if (!ts.isPropertyAssignment(p) || !ts.isArrowFunction(p.initializer)) return undefined;
    if (!ts.isIdentifier(p.initializer.body)) return undefined;
    names.push(p.initializer.body.text);
  }
  return names;
}

/** The `__export(target, {...})` call a statement is, if it is one. */
function exportCall(statement) {
  if (!ts.isExpressionStatement(statement) || !ts.isCallExpression(statement.expression)) return undefined;
  const call = statement.expression;
  const [target, getters] = call.arguments;
  if (!ts.isIdentifier(call.expression) || call.expression.text !== '__export' || call.arguments.length !== 2)
    return undefined;
  if (!ts.isIdentifier(target) || !ts.isObjectLiteralExpression(getters)) return undefined;
  return getterNames(getters);
}

/** The body of `__esm({ "path"() {...} })`, if `init` is that call. */
function esmBody(init) {
  if (!init || !ts.isCallExpression(init) || !ts.isIdentifier(init.expression) || init.expression.text !== '__esm')
    return undefined;
  const [arg] = init.arguments;
  if (!arg || !ts.isObjectLiteralExpression(arg) || arg.properties.length !== 1) return undefined;
  const method = arg.properties[0];
  return ts.isMethodDeclaration(method) && method.body ? method.body : undefined;
}

/** Where, after statement i, the module's init body begins, when its exports may move into it. */
function initBodyAfter(statements, i, names) {
  const declared = new Set();
  for (let j = i + 1; j < statements.length; j++) {
    const s = statements[j];
    if (ts.isFunctionDeclaration(s) && s.name) {
      declared.add(s.name.text);
      continue;
    }
    if (!ts.isVariableStatement(s)) return undefined;
    for (const d of s.declarationList.declarations) {
      if (!ts.isIdentifier(d.name)) return undefined;
      declared.add(d.name.text);
      const body = esmBody(d.initializer);
      if (body) return names.every((n) => declared.has(n)) ? body : undefined;
      if (d.initializer) return undefined;
    }
  }
  return undefined;
}

/** The bundle with its modules' export definitions moved into their inits, and how many moved. */
export function exportsIntoInits(code) {
  const file = ts.createSourceFile('bundle.js', code, ts.ScriptTarget.Latest, false, ts.ScriptKind.JS);
  const statements = file.statements;
  const edits = []; // [start, end, text]: each removal and its insertion
  for (let i = 0; i < statements.length; i++) {
    const names = exportCall(statements[i]);
    if (!names) continue;
    const body = initBodyAfter(statements, i, names);
    if (!body) continue;
    const start = statements[i].getStart(file);
    const text = code.slice(start, statements[i].end).replace(/;?$/, ';');
    edits.push([start, statements[i].end, ''], [body.getStart(file) + 1, body.getStart(file) + 1, text]);
  }
  edits.sort((a, b) => b[0] - a[0]);
  let out = code;
  for (const [start, end, text] of edits) out = out.slice(0, start) + text + out.slice(end);
  return { code: out, moved: edits.length / 2 };
}
