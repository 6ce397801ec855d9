"""Babel catalogs: `<lang>/LC_MESSAGES/messages.po` for zh_CN (default) and en."""
