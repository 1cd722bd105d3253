import { describe, expect, it } from "vitest";
import { namedFiles } from "./named-files";

describe("the files a vitest command line names (the lab tier's setup skips the lab for unit files alone)", () => {
  const vitest = ["/usr/bin/node", "/repo/node_modules/vitest/vitest.mjs"];
  it("takes the arguments after `run` that are no option and no option's value", () => {
    expect(namedFiles([...vitest, "run", "provider/ssh/batch.unit.test.ts", "a.unit.test.ts"])).toEqual(["provider/ssh/batch.unit.test.ts", "a.unit.test.ts"]);
    expect(namedFiles([...vitest, "run", "--config", "vitest.config.ts", "-t", "lifecycle", "x.test.ts"])).toEqual(["x.test.ts"]);
    expect(namedFiles([...vitest, "run", "--reporter=default", "--outputFile.json=/tmp/r.json", "provider/objects"])).toEqual(["provider/objects"]);
  });
  it("names none for a whole run, and errs towards none (so the lab comes up) where it cannot tell", () => {
    expect(namedFiles([...vitest, "run"])).toEqual([]);
    expect(namedFiles([...vitest, "run", "--reporter=default", "--reporter=json"])).toEqual([]);
    // A flag without a value before a file: the file is taken for its value, and the run gets its lab.
    expect(namedFiles([...vitest, "run", "--silent", "a.unit.test.ts"])).toEqual([]);
  });
});
