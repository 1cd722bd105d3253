import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { repoRoot } from "./reference/model";
import { generatedFiles } from "./reference/generate";

/**
 * `npm run gen`: writes the public types (provider/generated) and the reference
 * (docs/reference, the README's kinds table) from the resources' zod schemas. The unit tier
 * (tools/reference/reference.unit.test.ts) fails when what is checked in differs.
 */
let written = 0;
for (const [relative, content] of generatedFiles()) {
  const file = path.join(repoRoot, relative);
  let current: string | undefined;
  try {
    current = readFileSync(file, "utf8");
  } catch {
    current = undefined;
  }
  if (current === content) continue;
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, content);
  written++;
  console.log(`wrote ${relative}`);
}
console.log(written ? `${written} file(s) regenerated` : "generated files are current");
