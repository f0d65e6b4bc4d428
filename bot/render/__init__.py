"""What several features render: markdown escaping of PR-controlled text, links, and the
scan output formats (text, JSON, SARIF, GitHub workflow commands). Pure; imports only the core."""
