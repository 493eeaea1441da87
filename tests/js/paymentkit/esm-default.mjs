// Lets `import payment from '@blocklet/payment-js'` work under native Node ESM, as the
// Payment Kit docs write it: the package is CommonJS compiled from TypeScript, so Node's ESM
// loader hands over module.exports ({default: client, ...}) instead of the client.
// Usage: node --import ./esm-default.mjs your-code.mjs
import { register } from "node:module";

register(
  "data:text/javascript," +
    encodeURIComponent(`
      export async function resolve(specifier, context, next) {
        if (specifier === "@blocklet/payment-js" && !context.parentURL?.startsWith("data:")) {
          return { shortCircuit: true, url: "data:text/javascript," + encodeURIComponent(
            "import { createRequire } from 'node:module';" +
            "export default createRequire(" + JSON.stringify(context.parentURL) + ")('@blocklet/payment-js').default;"
          ) };
        }
        return next(specifier, context);
      }`),
);
