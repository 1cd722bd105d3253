import { readFileSync } from "node:fs";
import { execa } from "execa";
import { describe, expect, it } from "vitest";
import { repoRoot } from "./hosts";

/**
 * The unit tier (`npm test`) must run without root and without a lab: no unit test may reach
 * for lab hosts, stacks or the lab's setup. Files that do belong to the lab tier (`*.test.ts`).
 */
describe("test tiers", () => {
  it("no *.unit.test.ts file uses the lab", async () => {
    const files = (await execa("git", ["ls-files", "*.unit.test.ts"], { cwd: repoRoot })).stdout.split("\n").filter(Boolean);
    expect(files.length).toBeGreaterThan(10);
    const labOnly = /from "[^"]*(test\/support\/(lab-hosts|lifecycle|components)|lab\/(stack|lab)|global-setup)"/;
    for (const file of files) expect(readFileSync(`${repoRoot}/${file}`, "utf8"), file).not.toMatch(labOnly);
  });
});
