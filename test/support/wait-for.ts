export { waitFor } from '../../scripts/support/wait-for';
