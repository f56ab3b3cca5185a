module example.com/fullstack

go 1.26
