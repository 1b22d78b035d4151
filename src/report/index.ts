// Plots (SVG/PNG) and the self-contained HTML run report.
export { escapeHtml } from './escape';
export { verificationMetrics } from './metrics';
export {
  trainingCurvesSvg,
  rocSvg,
  eerSvg,
  distanceFractions,
  distanceHistogramSvg,
  tsneSvg,
  tsneScatterSvg,
  trapezoidAuc,
  formatMetric,
  type TrainingLogEntry,
  type RocData,
  type EerData,
  type DistanceData,
  type HistogramBins,
  type TsneInput,
  type TsnePlotOptions,
} from './plots';
export { tsne, TSNE_DEFAULTS, type TsneOptions } from './tsne';
export { writePlot, svgToPng, type PlotFiles } from './write';
export { writeFileAtomic } from '../util/durable-fs';
export {
  writeReportFiles,
  renderRunReport,
  renderPlots,
  renderMetricsTable,
  renderTimings,
  formatMetricValue,
  formatNumber,
  type RenderedPlot,
  type WriteReportFilesOptions,
  type WriteReportFilesResult,
} from './html';
export {
  referenceColumns,
  REFERENCE_ATT,
  REFERENCE_LFW,
  PYTORCH_ANCHOR_ATT,
  PYTORCH_ANCHOR_LFW_VIEW1,
  PYTORCH_ANCHOR_LFW_VIEW2,
} from './references';
export type { RunReportData, MetricSet, MetricValue, MetricColumn, TimingData, EpochTiming, TsneReportInput } from './types';
