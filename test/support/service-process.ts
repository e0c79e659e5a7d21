export { freePort, startServiceProcess } from '../../scripts/support/service-process';
export type { ServiceProcess } from '../../scripts/support/service-process';
