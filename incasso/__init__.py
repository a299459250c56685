"""incasso: the mail side of a Belgian debt-collection agency."""
