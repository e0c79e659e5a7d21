import { installResponseValidation } from './openapi-responses';

// Every response of the service that an end-to-end test receives is checked against /docs-json.
installResponseValidation();
