module example.com/sitemap

go 1.26
