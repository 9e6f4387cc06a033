/**
 * Reading callgrind's dumps (its "callgrind format", valgrind's docs: Callgrind Format Specification) for
 * `npm run bench:instructions`: the total, and the instructions of chosen functions.
 */

/**
 * V8's optimizing compilers (TurboFan, Maglev) by the names callgrind gives their functions. They compile
 * a function once it is hot, and again after a deoptimization, so in a window of a few hundred requests
 * their work lands in whichever Worker's window it happens to fall: the bigger the script, the more of
 * it. A long-lived isolate spreads it over millions of requests.
 */
export const COMPILING = /v8::internal::(?:compiler::|maglev::|turboshaft::|Compiler::)/;

/** The instructions a dump counts in all, or undefined if it names no total. */
export function totalOf(dump: string): number | undefined {
  const total = /^(?:totals|summary): (\d+)/m.exec(dump)?.[1];
  return total === undefined ? undefined : Number(total);
}

/**
 * The instructions a dump counts in the functions whose names match `pattern`, each its own (not its
 * callees'). A function's cost lines follow its `fn=` line, but the line after a `calls=` line is the
 * callee's cost, not the function's; with names compressed, a function is named once, in `fn=` or
 * `cfn=`, as `(id) name`, and then only by its `(id)`.
 */
export function selfCostIn(dump: string, pattern: RegExp): number {
  const names = new Map<string, string>();
  let counting = false;
  let callCost = false;
  let total = 0;
  for (const line of dump.split("\n")) {
    if (callCost) {
      callCost = false;
    } else if (line.startsWith("fn=") || line.startsWith("cfn=")) {
      const [, call, id, given] = /^(c?)fn=(?:\((\d+)\))? ?(.*)$/.exec(line) as RegExpExecArray;
      if (id !== undefined && given) names.set(id, given);
      if (!call) counting = pattern.test((id === undefined ? given : names.get(id)) ?? "");
    } else if (line.startsWith("calls=")) {
      callCost = true;
    } else if (counting && /^[\d+*-]/.test(line)) {
      total += Number(line.split(" ")[1] ?? 0);
    }
  }
  return total;
}
