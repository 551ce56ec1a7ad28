export {
  AuthenticatedPeerTransport,
  type AuthenticatedPeerTransportOptions,
  INTERNAL_PATH_PREFIX,
} from './authenticated-transport.ts';
export {
  ConsistencyUnavailableError,
  InvalidConsistencyTokenError,
  type PeerFailure,
  PeerUnavailableError,
  RoutingError,
} from './errors.ts';
export { headerValue, ROUTING_HEADERS } from './headers.ts';
export { DynamoLocalLog, type DynamoLocalLogOptions } from './local-log.ts';
export { PeerClient, type PeerClientOptions } from './peer-client.ts';
export {
  type LocalLog,
  type ReadTarget,
  ReadYourWrites,
  type ReadYourWritesOptions,
  type StateHeadReader,
  type WatermarkReader,
} from './read-your-writes.ts';
export { type CoreMode, decideWriteRoute, type WriteRoute, type WriteRouteInput } from './route-decision.ts';
export {
  CommandRouter,
  type CommandRouterOptions,
  type DegradeCheck,
  type HomeLookup,
  type RoutedWrite,
  type RouteTarget,
} from './router.ts';
export {
  type ConsistencyToken,
  type CoreWriteRef,
  formatConsistencyToken,
  parseConsistencyToken,
  reaches,
  tokenForTier,
} from './token.ts';
export {
  endpointUrl,
  FetchPeerTransport,
  type FetchPeerTransportOptions,
  type PeerRequest,
  type PeerResponse,
  type PeerTransport,
  parseRegionEndpoints,
} from './transport.ts';
