/**
 * A PingOne simulator for the rotation Lambda's integration tests, `npm start` and operator tooling.
 * See README.md for the URL scheme, the admin API and what is (UN)CONFIRMED about PingOne's behaviour.
 */

export type { ClientAuth } from './api/client-auth.js';
export { type Clock, type ControllableClock, SimulatorClock, type SimulatorClockOptions } from './clock.js';
export type {
  CreatedApplication,
  CreatedCustomResource,
  CreatedOidcApplication,
  CreatedResource,
  SimulatorControl,
  WorkerCredentials,
} from './control.js';
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
export { ECHO_ENCODINGS, type EchoEncoding } from './faults.js';
export type { RateLimit } from './rate-limit.js';
export type { RequestFilter, RequestRecord } from './request-log.js';
export { PingOneSimulator, type PingOneSimulatorOptions, startPingOneSimulator } from './simulator.js';
export type {
  Application,
  ApplicationAuthMethod,
  ApplicationGrantType,
  ApplicationProtocol,
  ApplicationType,
  CreateApplicationInput,
  CreateEnvironmentInput,
  CreateResourceInput,
  CreateWorkerInput,
  Environment,
  IntrospectEndpointAuthMethod,
  OwnerKind,
  ResourceType,
  SecretState,
  TokenEndpointAuthMethod,
} from './store/model.js';
