// The end-to-end test's program: devices described by NETDEV_E2E_SPEC (JSON), so one test
// can change inputs between `pulumi up`s. Consumes pulumi-netdev from node_modules, as users do.
const fs = require("node:fs");
const pulumi = require("@pulumi/pulumi");
const netdev = require("pulumi-netdev");

const spec = JSON.parse(process.env.NETDEV_E2E_SPEC);
// A host may carry `plainCredentials` (the key, and a password, passed WITHOUT pulumi.secret,
// as a careless program would) and `settings` (timeouts, retries) for the fault tests.
const hosts = Object.fromEntries(
  Object.entries(spec.hosts).map(([name, h]) => {
    const key = fs.readFileSync(h.privateKeyPath, "utf8");
    const credentials = h.plainCredentials ? { privateKey: key, password: h.plainCredentials.password } : { privateKey: pulumi.secret(key) };
    return [name, { host: h.address, port: h.port, user: h.username, hostKey: h.hostPublicKey, ...credentials, ...(h.settings ?? {}) }];
  }),
);

// A device may list `dependsOn` (resource names earlier in the list): a member after its master.
// Components take connections inside their inputs (a host list): {"$connection": "<host>"}
// anywhere in the inputs stands for that host's connection; `host` may then be left out.
// {"$ref": "<resource name>", "output": "name"} stands for that Output of a resource earlier in
// the list, as a program passes `master: br.name`: Pulumi then knows the dependency.
const made = {};
const resolve = (value) =>
  Array.isArray(value)
    ? value.map(resolve)
    : value && typeof value === "object"
      ? "$connection" in value
        ? hosts[value.$connection]
        : "$ref" in value
          ? made[value.$ref][value.output]
          : Object.fromEntries(Object.entries(value).map(([key, v]) => [key, resolve(v)]))
      : value;
const outputs = {};
for (const device of spec.devices) {
  const Resource = netdev[device.type];
  const options = device.dependsOn ? { dependsOn: device.dependsOn.map((name) => made[name]) } : undefined;
  const args = device.host ? { connection: hosts[device.host], ...resolve(device.inputs) } : resolve(device.inputs);
  const resource = new Resource(device.resourceName, args, options);
  made[device.resourceName] = resource;
  outputs[device.resourceName] = resource.ifindex;
}
module.exports = outputs;
