"""Finding, decoding and preparing pictures: files, class-folder datasets, transforms, thumbnails."""
