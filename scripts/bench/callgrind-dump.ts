/**
 * Reading callgrind's dumps (its "callgrind format", valgrind's docs: Callgrind Format Specification) for
 * `npm run bench:instructions`: the total, and the instructions of each function.
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
 * Each function's own instructions in a dump (not its callees'), by name. A function's cost lines follow
 * its `fn=` line, but the line after a `calls=` line is the callee's cost, not the function's; with names
 * compressed, a function is named once, in `fn=` or `cfn=`, as `(id) name`, and then only by its `(id)`.
 * Code callgrind has no symbol for (V8's compiled JavaScript) is named by its address, e.g. `0x4a1f0c0`.
 */
export function selfCosts(dump: string): Map<string, number> {
  const names = new Map<string, string>();
  const costs = new Map<string, number>();
  let name: string | undefined;
  let callCost = false;
  for (const line of dump.split("\n")) {
    if (callCost) {
      callCost = false;
    } else if (line.startsWith("fn=") || line.startsWith("cfn=")) {
      const [, call, id, given] = /^(c?)fn=(?:\((\d+)\))? ?(.*)$/.exec(line) as RegExpExecArray;
      if (id !== undefined && given) names.set(id, given);
      if (!call) name = id === undefined ? given : names.get(id);
    } else if (line.startsWith("calls=")) {
      callCost = true;
    } else if (name !== undefined && /^[\d+*-]/.test(line)) {
      costs.set(name, (costs.get(name) ?? 0) + Number(line.split(" ")[1] ?? 0));
    }
  }
  return costs;
}

/** The instructions of the functions in `costs` (from `selfCosts`) whose names match `pattern`. */
export function costOf(costs: Map<string, number>, pattern: RegExp): number {
  let total = 0;
  for (const [name, cost] of costs) if (pattern.test(name)) total += cost;
  return total;
}

/**
 * Names code by its address from a perf map (`/tmp/perf-<pid>.map`, which V8 writes under
 * `--perf-basic-prof`: a line per piece of code, `start size name`, in hex), e.g. `JS:*check index.js:1:9171`
 * (`*` TurboFan, `+` Maglev, `^` Sparkplug, `~` the interpreter). Unknown addresses keep their name.
 */
export function perfMapNamer(map: string): (name: string) => string {
  // Where code was freed and its address used again, the later line names what ran since.
  const byStart = new Map<number, { end: number; name: string }>();
  for (const line of map.split("\n")) {
    const [, start, size, name] = /^([0-9a-f]+) ([0-9a-f]+) (.+)$/.exec(line) ?? [];
    if (start === undefined || size === undefined || name === undefined) continue;
    const at = Number.parseInt(start, 16);
    byStart.set(at, { end: at + Number.parseInt(size, 16), name });
  }
  const starts = [...byStart.keys()].sort((a, b) => a - b);
  return (name) => {
    if (!/^0x[0-9a-f]+$/.test(name)) return name;
    const address = Number.parseInt(name, 16);
    // How many pieces of code start at or before the address: the last of them may hold it.
    let low = 0;
    let high = starts.length;
    while (low < high) {
      const middle = (low + high) >> 1;
      if ((starts[middle] as number) <= address) low = middle + 1;
      else high = middle;
    }
    const code = low === 0 ? undefined : byStart.get(starts[low - 1] as number);
    return code !== undefined && address < code.end ? code.name : name;
  };
}
