"""Reading files into cleaned ``Document`` records: file formats, cleaning, the corpus folder."""
