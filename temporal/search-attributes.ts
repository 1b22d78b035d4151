// Custom search attributes that make runs findable: `temporal workflow list --query "FacenetDataset='lfw'"`.
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

export const DATASET_KEY = defineSearchAttributeKey('FacenetDataset', SearchAttributeType.KEYWORD);
export const CONFIG_KEY = defineSearchAttributeKey('FacenetConfig', SearchAttributeType.KEYWORD);
export const BEST_ACCURACY_KEY = defineSearchAttributeKey('FacenetBestAccuracy', SearchAttributeType.DOUBLE);
export const EPOCH_KEY = defineSearchAttributeKey('FacenetEpoch', SearchAttributeType.INT);

/** As the CLI and the server name the types (for `--search-attribute` and operator calls). */
export const SEARCH_ATTRIBUTES: Record<string, 'Keyword' | 'Double' | 'Int'> = {
  FacenetDataset: 'Keyword',
  FacenetConfig: 'Keyword',
  FacenetBestAccuracy: 'Double',
  FacenetEpoch: 'Int',
};
