/**
 * Reading callgrind's dumps (scripts/bench/callgrind-dump.ts), for `npm run bench:instructions`: the
 * total, each function's own instructions, those of V8's optimizing compilers (which the counts leave
 * out), and V8's compiled code named from its perf map (`--profile`).
 */
import { describe, expect, it } from "vitest";
import { COMPILING, costOf, perfMapNamer, selfCosts, totalOf } from "../../scripts/bench/callgrind-dump.ts";

// As callgrind writes it with names compressed (its default): each name given once, then by id. The
// compiler's function is first named as a callee; `main`'s call to it costs 500 inclusive, which is
// the compiler's, not main's.
const compressed = `# callgrind format
version: 1
positions: line
events: Ir
summary: 1620

ob=(1) /usr/bin/workerd
fl=(1) main.c++
fn=(1) main
10 100
+2 20
cfn=(2) v8::internal::compiler::PipelineCompilationJob::ExecuteJobImpl(v8::internal::RuntimeCallStats*)
calls=1 40
* 500

fl=(2) pipeline.cc
fn=(2)
40 300
fi=(3) zone.h
-1 200
fe=(2)
cfn=(3) v8::internal::Zone::New(unsigned long)
calls=3 7
41 0

fn=(4) v8::internal::maglev::MaglevGraphBuilder::Build()
5 900
fn=(1)
12 100
`;

describe("a callgrind dump", () => {
  it("gives its total", () => {
    expect(totalOf(compressed)).toBe(1620);
    expect(totalOf("events: Ir\ntotals: 42\n")).toBe(42);
    expect(totalOf("events: Ir\n")).toBeUndefined();
  });

  it("gives each function's own instructions, inlined code included and callees' left out", () => {
    const costs = selfCosts(compressed);
    expect(costs.get("main")).toBe(220);
    expect(costOf(costs, /PipelineCompilationJob/)).toBe(500);
    expect(costs.has("v8::internal::Zone::New(unsigned long)")).toBe(false);
  });

  it("counts V8's optimizing compilers, TurboFan's and Maglev's, and nothing else", () => {
    const costs = selfCosts(compressed);
    expect(costOf(costs, COMPILING)).toBe(1400);
    expect(costOf(costs, /./)).toBe(1620);
  });

  it("reads names given in full at every mention, as with --compress-strings=no", () => {
    const uncompressed = compressed
      .replace("fn=(2)\n", "fn=v8::internal::compiler::PipelineCompilationJob::ExecuteJobImpl()\n")
      .replace("fn=(1)\n12", "fn=main\n12")
      .replace(/\((\d+)\) /g, "");
    expect(costOf(selfCosts(uncompressed), COMPILING)).toBe(1400);
    expect(selfCosts(uncompressed).get("main")).toBe(220);
  });
});

describe("a perf map", () => {
  const map = [
    "4a11000 3f8 Builtin:DeoptimizationEntry_Eager",
    "10000 100 JS:~check index.js:1:9171",
    "10200 80 JS:*check index.js:1:9171",
    // The code at 0x10000 was freed, and its address used again: the later line names what ran since.
    "10000 40 JS:+answer index.js:1:4450",
    "",
  ].join("\n");
  const named = perfMapNamer(map);

  it("names the code an address falls in, as callgrind writes the address", () => {
    expect(named("0x0000000000010210")).toBe("JS:*check index.js:1:9171");
    expect(named("0x4a113f7")).toBe("Builtin:DeoptimizationEntry_Eager");
  });

  it("names reused addresses by their latest code", () => {
    expect(named("0x10000")).toBe("JS:+answer index.js:1:4450");
  });

  it("leaves addresses outside all code, and names that are no address, as they are", () => {
    expect(named("0x10050")).toBe("0x10050");
    expect(named("0x10280")).toBe("0x10280");
    expect(named("0xffff")).toBe("0xffff");
    expect(named("main")).toBe("main");
    expect(perfMapNamer("")("0x10000")).toBe("0x10000");
  });
});
