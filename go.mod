module github.com/seamhq/seam

go 1.26.8
