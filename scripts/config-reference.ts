// Prints the configuration reference table for README.md (between its config-reference markers).
import { configReference } from '../src/config/reference';

console.log(configReference());
