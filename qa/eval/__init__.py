"""The evaluation harness: gold files, scoring, reports and the development suite."""
