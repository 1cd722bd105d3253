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

const outputs = {};
for (const device of spec.devices) {
  const Resource = netdev[device.type];
  const resource = new Resource(device.resourceName, { connection: hosts[device.host], ...device.inputs });
  outputs[device.resourceName] = resource.ifindex;
}
module.exports = outputs;
