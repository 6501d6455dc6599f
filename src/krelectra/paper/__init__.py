"""The paper stage: tables (LaTeX, Markdown, HTML), figures and the manuscript, computed
from the rule outputs of a run, with the published numbers from paper/published.yaml."""
