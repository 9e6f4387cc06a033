/**
 * Reading callgrind's dumps (scripts/bench/callgrind-dump.ts), for `npm run bench:instructions`: the
 * total, and the instructions of V8's optimizing compilers, which the counts leave out.
 */
import { describe, expect, it } from "vitest";
import { COMPILING, selfCostIn, totalOf } from "../../scripts/bench/callgrind-dump.ts";

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
    expect(selfCostIn(compressed, /^main$/)).toBe(220);
    expect(selfCostIn(compressed, /PipelineCompilationJob/)).toBe(500);
  });

  it("counts V8's optimizing compilers, TurboFan's and Maglev's, and nothing else", () => {
    expect(selfCostIn(compressed, COMPILING)).toBe(1400);
    expect(selfCostIn(compressed, /./)).toBe(1620);
  });

  it("reads names given in full at every mention, as with --compress-strings=no", () => {
    const uncompressed = compressed
      .replace("fn=(2)\n", "fn=v8::internal::compiler::PipelineCompilationJob::ExecuteJobImpl()\n")
      .replace("fn=(1)\n12", "fn=main\n12")
      .replace(/\((\d+)\) /g, "");
    expect(selfCostIn(uncompressed, COMPILING)).toBe(1400);
    expect(selfCostIn(uncompressed, /^main$/)).toBe(220);
  });
});
