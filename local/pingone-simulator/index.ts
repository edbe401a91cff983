/**
 * A PingOne simulator for the rotation Lambda's integration tests, `npm start` and operator tooling.
 * See README.md for the URL scheme, the admin API and what is (UN)CONFIRMED about PingOne's behaviour.
 */
export { type Clock, type ControllableClock, SimulatorClock, type SimulatorClockOptions } from './clock.js';
export type { OAuthError, PingOneError, PingOneErrorBody, PingOneErrorDetail } from './errors.js';
export type {
  CommitThenFailFault,
  DelayFault,
  EchoFault,
  FailNextFault,
  FaultInjector,
  FaultKind,
  FaultTarget,
  LateCommitFault,
  PendingFault,
  RouteName,
} from './faults.js';
export { ECHO_ENCODINGS, type EchoEncoding, echoEncode } from './faults.js';
export type { ClientAuth } from './pingone-api.js';
export {
  CORRELATION_HEADER,
  type CreatedApplication,
  type CreatedCustomResource,
  type CreatedOidcApplication,
  type CreatedResource,
  PingOneSimulator,
  type PingOneSimulatorOptions,
  type RateLimit,
  type RequestFilter,
  type RequestRecord,
  startPingOneSimulator,
  type WorkerCredentials,
} from './simulator.js';
export {
  type Application,
  type ApplicationAuthMethod,
  type ApplicationGrantType,
  type ApplicationProtocol,
  type ApplicationType,
  type CreateApplicationInput,
  type CreateEnvironmentInput,
  type CreateResourceInput,
  type CreateWorkerInput,
  type Environment,
  type IntrospectEndpointAuthMethod,
  type OwnerKind,
  type ResourceType,
  type SecretState,
  SimulatorUsageError,
  type TokenEndpointAuthMethod,
} from './store.js';
