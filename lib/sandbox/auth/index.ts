export { ApiClient, type ClientAuth, type ClientRequest } from './api-client.ts';
export { LocalIssuer } from './issuer.ts';
export { createSandboxAuth, type SandboxAuth } from './sandbox-auth.ts';
export { type SandboxCredentials, type SignableRequest, signSigV4, verifySigV4 } from './sigv4.ts';
