/**
 * How a report's summary figures are named to people, by the CLI's report and by the web console
 * alike. The console loads the compiled module as /ui/metric-names.js, so it imports nothing.
 */
const METRIC_NAMES: Readonly<Record<string, string>> = {
  accuracy: 'accuracy',
  macroF1: 'macro F1',
  auc: 'ROC AUC',
  map50: 'mAP@0.5',
  map: 'mAP@[.5:.95]',
  precision: 'precision',
  recall: 'recall',
  cer: 'CER',
  wer: 'WER',
  exactLineAccuracy: 'exact lines',
  hmean: 'H-mean',
  meanIou: 'mean IoU',
  pixelAccuracy: 'pixel accuracy',
  imagesPerSecond: 'images/s',
  evaluated: 'images evaluated',
};

/** A summary key's name: from the table, `top-k accuracy` for topKAccuracy, else the key itself. */
export const metricName = (key: string): string => METRIC_NAMES[key] ?? (/^top(\d+)Accuracy$/.test(key) ? `top-${key.slice(3, -8)} accuracy` : key);
