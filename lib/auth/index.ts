export { AuthError, UnauthenticatedError } from './errors.ts';
export {
  checkSignedDetail,
  type DetailCheck,
  EVENT_SIGNATURE_FIELD,
  eventSignature,
  signedDetail,
} from './event-signature.ts';
export { type InternalKey, MIN_INTERNAL_KEY_BYTES, staticInternalKey } from './internal-key.ts';
export {
  PEER_CLOCK_TOLERANCE_SECONDS,
  PEER_TOKEN_TTL_SECONDS,
  type PeerRequestBinding,
  peerIdentity,
  signPeerToken,
  type VerifiedPeer,
  verifyPeerToken,
} from './peer-token.ts';
export { internalKeySecretName, secretsManagerInternalKey } from './secrets-manager-key.ts';
