// Prints the configuration reference table for docs/configuration.md (between its config-reference markers).
import { configReference } from '../src/config/reference';

console.log(configReference());
